import { z } from 'zod';

export const ModelObject = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    created: z.number().int().describe('Unix seconds.'),
    owned_by: z.string().describe('"glmtune" for base models, the organization id for fine-tuned ones.'),
    // glmtune's fields, beside OpenAI's:
    base_model: z.string().nullable().describe('The base model a fine-tuned model was trained from (null for a base model).'),
    method: z.string().nullable().describe('Fine-tuning method: full, freeze, lora, qlora or ptuning_v2 (null for a base model).'),
    artifact: z
      .enum(['base', 'peft_lora', 'ptuning_v2_prefix', 'hf_model'])
      .describe('What the model’s files are: a base model folder, a PEFT LoRA adapter, a P-tuning v2 prefix, or a whole HF-layout model (full / freeze / merged).'),
    architecture: z.string().describe('chatglm2 (ChatGLM2/3, GLM-4) or chatglm6b.'),
    context_length: z.number().int(),
    parameters: z.number().int().describe('Parameters of the model it runs (the base model’s, for an adapter).'),
    trained_parameters: z.number().int().nullable(),
    artifact_bytes: z.number().int().nullable().describe('Size of the fine-tuned model’s files (null for a base model).'),
    job_id: z.string().nullable(),
    checkpoint_step: z.number().int().nullable(),
  })
  .meta({ id: 'Model' });

export const ModelList = z.object({ object: z.literal('list'), data: z.array(ModelObject) }).meta({ id: 'ModelList' });

export const ModelDeleted = z.object({ id: z.string(), object: z.literal('model'), deleted: z.boolean() }).meta({ id: 'ModelDeleted' });

export const ModelParams = z.object({ model: z.string().min(1).max(300) });

export const Artifact = z
  .object({
    name: z.string().describe('Path of the file inside the model folder.'),
    bytes: z.number().int(),
    sha256: z.string().describe('sha256 of the content, hex.'),
  })
  .meta({ id: 'ModelArtifact' });

export const ArtifactList = z
  .object({ object: z.literal('list'), model: z.string(), data: z.array(Artifact) })
  .meta({ id: 'ModelArtifactList' });

export const ArtifactParams = z.object({
  model: z.string().min(1).max(300),
  name: z.string().min(1).max(1000).describe('The artifact’s name, as listed (URL-encoded).'),
});
