// The OpenAPI document, generated from the routes' zod schemas. Building the app only registers
// routes; no service is called, so no database or bucket is needed to produce the document.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import type { Services } from '../services/index.ts';

export async function generateOpenApiDocument(): Promise<unknown> {
  const services = {
    config: loadConfig({}),
    metrics: new Registry(),
    compute: () => undefined,

  } as unknown as Services;
  const app = await buildApp(services, pino({ level: 'silent' }));
  const document = app.swagger();
  await app.close();
  return document;
}

/** The committed form: stable key order as generated, two-space indentation, final newline. */
export function serialiseDocument(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
