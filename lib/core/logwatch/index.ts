export * from './analyzer';
export * from './config';
export * from './defaults';
export * from './ingest';
export * from './parser';
export * from './pattern';
export * from './sink';
