// Downloads that need the key: a plain link cannot send an Authorization header (and the key must not
// go into a URL), so the file is fetched with the key and handed to the browser as a blob.
import { request } from './client.ts';

export async function downloadWithKey(path: string, filename: string, signal?: AbortSignal): Promise<void> {
  const blob = await (await request(path, { signal })).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has started the download from the blob; the URL can go once this task is done.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
