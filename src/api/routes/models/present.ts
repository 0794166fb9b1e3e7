import type { z } from 'zod';
import { artifactKind } from '../../../services/inference.ts';
import type { ModelView } from '../../../services/models.ts';
import { parameterCount } from '../../../model/config.ts';
import type { ModelObject } from '../../schemas/models.ts';
import { unixSeconds } from '../files/present.ts';

export const BASE_MODEL_OWNER = 'glmtune';

export function presentModel(view: ModelView): z.infer<typeof ModelObject> {
  const common = { object: 'model' as const, architecture: view.config.architecture, context_length: view.config.seqLength, parameters: parameterCount(view.config) };
  if (view.kind === 'base') {
    return {
      id: view.base.id,
      created: unixSeconds(view.created),
      owned_by: BASE_MODEL_OWNER,
      ...common,
      base_model: null,
      method: null,
      artifact: 'base',
      trained_parameters: null,
      artifact_bytes: null,
      job_id: null,
      checkpoint_step: null,
    };
  }
  const { model } = view;
  return {
    id: model.id,
    created: unixSeconds(model.createdAt),
    owned_by: model.organizationId,
    ...common,
    base_model: model.baseModel,
    method: model.method,
    artifact: artifactKind(model),
    trained_parameters: model.trainedParameters,
    artifact_bytes: model.artifactBytes,
    job_id: model.jobId,
    checkpoint_step: model.checkpointStep,
  };
}
