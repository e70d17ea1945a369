// Resolves the @onebill/* aliases of tsconfig.json for compiled code under dist/ (node -r).
const { join } = require('node:path');
const { register } = require('tsconfig-paths');
const { compilerOptions } = require('../tsconfig.json');

register({ baseUrl: join(__dirname, '..', 'dist'), paths: compilerOptions.paths });
