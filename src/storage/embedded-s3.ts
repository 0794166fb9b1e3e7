// The embedded default: an S3-compatible server (s3rver) in this process, on loopback, keeping its
// objects under DATA_DIR. The service talks to it through the same S3 client as to AWS or MinIO.
import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';

export interface EmbeddedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

export async function startEmbeddedS3(directory: string, port = 0): Promise<EmbeddedS3> {
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory });
  const address = (await server.run()) as { address: string; port: number };
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    // s3rver accepts exactly these credentials.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    close: () => (closed ??= server.close()), // idempotent
  };
}
