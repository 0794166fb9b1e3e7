/**
 * A Content-Disposition header that is safe whatever the filename holds: an ASCII fallback with
 * quotes, backslashes and control characters removed, and the exact name in RFC 5987 encoding.
 */
export function contentDisposition(filename: string): string {
  // eslint-disable-next-line no-control-regex
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
