export * from './admin';
export * from './config';
export * from './consumer';
export * from './kafka-client';
export * from './producer';
export * from './topics';
export * from './range-reader';
