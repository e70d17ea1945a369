export * from './kafka';
export * from './events/settlement-event';
export * from './events/identity-change';
export * from './events/high-burden-alert';
export * from './events/discharge-rejected';
export * from './xml';
export * from './canonical';
