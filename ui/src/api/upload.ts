// File upload with progress. fetch() reports no upload progress, XMLHttpRequest does.
import { ApiError, authHeaders, errorFrom } from './client.ts';
import type { FileObject } from './types.ts';

export function uploadFile(file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<FileObject> {
  const form = new FormData();
  form.append('purpose', 'fine-tune');
  form.append('file', file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/files');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(JSON.parse(xhr.responseText) as FileObject);
      } else {
        // The same error handling as every other call (a refused key brings the key prompt back).
        void errorFrom(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText })).then(reject);
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'The upload did not reach the service.'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
