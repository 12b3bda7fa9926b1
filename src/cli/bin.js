#!/usr/bin/env node
// `loopline …` — runs the TypeScript CLI through tsx (no build step for operators running from a clone).
require('tsx/cjs');
require('./main.ts');
