export * from './types';
export { resolveRuleSet } from './resolve';
export { RuleBook, projectRoot, type Hospital, type RuleBookOptions } from './load';
