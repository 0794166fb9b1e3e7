import { z } from 'zod';
import { ListOrder, listOf } from './common.ts';

export const FilePurpose = z.enum(['fine-tune', 'fine-tune-results']);

export const FileObject = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: z.number().int().describe('Unix seconds.'),
    filename: z.string(),
    purpose: FilePurpose,
    status: z.enum(['uploaded', 'processed', 'error']),
    status_details: z.string().nullable(),
    // glmtune's fields, beside OpenAI's:
    sha256: z.string().describe('sha256 of the content, hex.'),
    format: z.string().nullable().describe('Dataset format detected at upload (openai-chat, alpaca, sharegpt, …).'),
    examples: z.number().int().nullable().describe('Number of training examples in a valid dataset.'),
    characters: z.number().int().nullable().describe('Characters of message content in a valid dataset.'),
    validation: z
      .object({
        errors: z.array(z.object({ line: z.number().int().nullable(), message: z.string() })),
        error_count: z.number().int(),
      })
      .nullable()
      .describe('For a dataset with errors: the first errors with their line numbers, and how many there were.'),
  })
  .meta({ id: 'File' });

export const FileList = listOf(FileObject, 'FileList');

export const FileDeleted = z
  .object({ id: z.string(), object: z.literal('file'), deleted: z.boolean() })
  .meta({ id: 'FileDeleted' });

export const FileIdParams = z.object({ file_id: z.string().min(1).max(200) });

export const ListFilesQuery = z.object({
  after: z.string().max(200).optional().describe('Id of the last file of the previous page.'),
  limit: z.coerce.number().int().min(1).max(10000).default(10000),
  order: ListOrder,
  purpose: z.string().max(100).optional(),
});

/** For the OpenAPI document only: multipart bodies are parsed by the route itself, streaming. */
export const UploadFileBody = z
  .object({
    file: z.string().meta({ format: 'binary' }).describe('The JSONL dataset.'),
    purpose: z.literal('fine-tune'),
  })
  .meta({ id: 'UploadFileRequest' });
