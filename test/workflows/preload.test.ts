// The workflow modules are preloaded into the worker's reusable V8 context (src/temporal/workflow-bundle.ts): the
// SDK evaluates them once and shares them, deep-frozen, between every workflow the worker runs. That is only safe
// while no module in the bundle keeps state at module level or calls a workflow API there. This test reads every
// Loopline module the bundle contains and fails, naming the file and line, on anything else at module level:
// a `let`/`var`, a statement that runs code, a mutable Map/Set (a frozen Map still takes `set`), a global or
// sticky RegExp (it writes lastIndex), or a call other than the definitions the SDK's own modules make.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/devtools/tools';
import {
  buildWorkflowBundle,
  buildWorkflowBundleInChild,
  loaderFlags,
  workflowBundleOptions,
} from '../../src/temporal/workflow-bundle';

/** Calls allowed at module level: they build plain definitions and schedule nothing until called. */
const ALLOWED_CALLS = new Set([
  'defineSignal',
  'defineQuery',
  'defineUpdate',
  'defineSearchAttributeKey',
  'proxyActivities',
  'proxyLocalActivities',
  'operatorMessages',
]);
const ALLOWED_NEW = new Set(['DefaultFailureConverter']);

/** Problems with one module's top level, as "file:line what". */
export function moduleLevelProblems(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const problems: string[] = [];
  const at = (node: ts.Node, what: string) =>
    problems.push(`${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1} ${what}`);
  // Everything an initializer runs at load: calls and constructions anywhere in it, but not inside functions.
  const checkValue = (node: ts.Node, type: ts.TypeNode | undefined): void => {
    if (ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isClassExpression(node)) return;
    if (ts.isCallExpression(node)) {
      const callee = node.expression.getText(sf);
      if (!ALLOWED_CALLS.has(callee.replace(/<.*$/s, ''))) at(node, `calls ${callee}() at module level`);
    } else if (ts.isNewExpression(node)) {
      const cls = node.expression.getText(sf);
      const readonlyType = type && /^Readonly(Set|Map)</.test(type.getText(sf));
      if (/^(Set|Map)$/.test(cls)) {
        if (!readonlyType) at(node, `a mutable ${cls} at module level (type it Readonly${cls})`);
      } else if (!ALLOWED_NEW.has(cls)) at(node, `new ${cls}() at module level`);
    } else if (ts.isRegularExpressionLiteral(node) && /\/[a-z]*[gy][a-z]*$/.test(node.text)) {
      at(node, 'a global or sticky RegExp at module level (it keeps lastIndex)');
    }
    ts.forEachChild(node, (child) => checkValue(child, undefined));
  };
  for (const st of sf.statements) {
    if (
      ts.isImportDeclaration(st) ||
      ts.isFunctionDeclaration(st) ||
      ts.isClassDeclaration(st) ||
      ts.isInterfaceDeclaration(st) ||
      ts.isTypeAliasDeclaration(st) ||
      ts.isExportDeclaration(st) ||
      ts.isEnumDeclaration(st) ||
      ts.isModuleDeclaration(st)
    )
      continue;
    if (ts.isVariableStatement(st)) {
      if (!(st.declarationList.flags & ts.NodeFlags.Const)) {
        at(st, 'a let/var at module level');
        continue;
      }
      for (const d of st.declarationList.declarations) if (d.initializer) checkValue(d.initializer, d.type);
      continue;
    }
    at(st, `a ${ts.SyntaxKind[st.kind]} at module level`);
  }
  return problems;
}

describe('workflow modules are safe to preload and share between workflows', () => {
  let bundle: string;
  before(async () => {
    bundle = (await buildWorkflowBundle()).code;
  });

  test('the bundle preloads workflows/index.ts', () => {
    assert.deepEqual(workflowBundleOptions().preloadModules, [workflowBundleOptions().workflowsPath]);
    const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(bundle);
    assert.ok(preload, 'the bundle has a preloadModules entry');
    assert.match(preload[1]!, /\.\/workflows\/index\.ts/);
  });

  test('no Loopline module in the bundle keeps state or runs code at module level', () => {
    const files = [...new Set([...bundle.matchAll(/"\.\/((?:src|workflows)\/[^"]+\.ts)"/g)].map((m) => m[1]!))];
    assert.ok(files.length >= 30, `found ${files.length} Loopline modules in the bundle`);
    assert.ok(files.includes('workflows/order/run.ts'));
    const problems = files.flatMap((f) => moduleLevelProblems(f, readFileSync(join(PROJECT_ROOT, f), 'utf8')));
    assert.deepEqual(problems, []);
  });

  test('a worker builds the bundle in a child process, the same bundle as in its own', async () => {
    const child = await buildWorkflowBundleInChild();
    assert.equal(child.code.length, bundle.length);
    assert.ok(child.code === bundle, 'the child built the same bundle');
  });

  test('the child gets the loader flags only, never an --eval, --test or profiler flag of the parent', () => {
    assert.deepEqual(
      loaderFlags([
        '--import',
        'tsx',
        '-e',
        'run()',
        '--test',
        '--cpu-prof',
        '--require=./x.js',
        '-r',
        'y',
        '--inspect',
      ]),
      ['--import', 'tsx', '--require=./x.js', '-r', 'y'],
    );
  });

  test('the check finds what it is for', () => {
    const bad = [
      'let count = 0;',
      'const seen = new Map<string, number>();',
      "const ok: ReadonlySet<string> = new Set(['a']);",
      'const rx = /a/g;',
      'const id = workflowInfo().workflowId;',
      "const sig = defineSignal<[string]>('s');",
      'register();',
    ].join('\n');
    assert.deepEqual(
      moduleLevelProblems('x.ts', bad).map((p) => p.replace(/^x\.ts:(\d+) .*/, '$1')),
      ['1', '2', '4', '5', '7'],
    );
  });
});
