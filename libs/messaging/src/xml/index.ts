export * from './errors';
export * from './dto';
export * from './decode';
export * from './encode';
export * from './text';
export * from './mask';
