export * from './organizations.ts';
export * from './api-keys.ts';
export * from './files.ts';
export * from './jobs.ts';
export * from './models.ts';
