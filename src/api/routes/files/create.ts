import type { MultipartFile } from '@fastify/multipart';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errors } from '../../../errors.ts';
import { type FileService, type StagedUpload, UPLOADABLE_PURPOSES } from '../../../services/files.ts';
import { standardErrors, ErrorResponse } from '../../schemas/common.ts';
import { FileObject, UploadFileBody } from '../../schemas/files.ts';
import { presentFile } from './present.ts';

/**
 * POST /v1/files — multipart `file` + `purpose`, in either order (OpenAI's client sends the file first).
 * The file streams straight into the bucket; the row is written only once purpose and content are known.
 */
export const createFileRoute: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/files',
    {
      schema: {
        summary: 'Upload a dataset file',
        operationId: 'createFile',
        tags: ['Files'],
        consumes: ['multipart/form-data'],
        body: UploadFileBody,
        response: { 200: FileObject, 413: ErrorResponse, 415: ErrorResponse, ...standardErrors },
      },
      // The body is a stream read below; this schema is for the OpenAPI document only.
      validatorCompiler: () => (data) => ({ value: data }),
    },
    async (request) => {
      if (!request.isMultipart()) {
        throw errors.unsupportedMediaType('Upload files as multipart/form-data with the fields `file` and `purpose`.');
      }
      const { files } = request.server.services;
      let staged: StagedUpload | undefined;
      let purpose: string | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'field') {
            if (part.fieldname === 'purpose') purpose = String(part.value);
            continue;
          }
          if (part.fieldname !== 'file' || staged) {
            part.file.resume(); // drain parts we do not use
            throw errors.invalid(staged ? 'Send exactly one `file` part.' : `Unexpected file field '${part.fieldname}'; the file goes in 'file'.`, 'file');
          }
          staged = await receive(request.server.services.files, request.principal.organizationId, part);
        }
        if (!staged) throw errors.invalid('Missing the `file` part.', 'file');
        if (purpose === undefined) throw errors.invalid('Missing the `purpose` field.', 'purpose');
        if (!(UPLOADABLE_PURPOSES as readonly string[]).includes(purpose)) {
          throw errors.invalid(`Invalid purpose '${purpose}': supported values are ${UPLOADABLE_PURPOSES.join(', ')}.`, 'purpose');
        }
        return presentFile(await files.commit(staged, purpose));
      } catch (err) {
        if (staged) await files.discard(staged);
        throw err;
      }
    },
  );
};

function receive(files: FileService, organizationId: string, part: MultipartFile) {
  // A body that ends inside the file part (no closing boundary) hands over a stream busboy has already
  // destroyed without an error: piping it would wait forever.
  if (part.file.destroyed) throw errors.invalid('The multipart body ended before the file part was complete.', 'file');
  // busboy ends a too-long file stream quietly with `truncated`; turn that into an error that aborts the upload.
  part.file.on('limit', () => part.file.destroy(errors.tooLarge('The file is larger than the upload limit.', 'file')));
  return files.receive(organizationId, part.filename, part.file);
}
