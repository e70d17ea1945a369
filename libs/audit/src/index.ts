export * from './stored';
export * from './compare';
export * from './replay';
export * from './csv';
export * from './render';
export * from './declarations';
export * from './statements';
export * from './kafka-range';
