export * from './log';
export * from './nest-logger';
export * from './tracing';
export * from './tracing-setup';
export * from './http';
