// npm run openapi: writes openapi/openapi.json from the code. A test fails when the two differ.
import { writeFileSync } from 'node:fs';
import { generateOpenApiDocument, serialiseDocument } from '../src/api/openapi-document.ts';

const path = new URL('../openapi/openapi.json', import.meta.url);
writeFileSync(path, serialiseDocument(await generateOpenApiDocument()));
console.log(`wrote ${path.pathname}`);
