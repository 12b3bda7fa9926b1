// Shopify's calculated query cost, shared by the client (to pace by design) and the simulator (to
// charge the bucket). The documented rules, simplified (docs/sandbox/shopify.md): scalars and enums 0,
// an object 1, a connection or list with `first` 2 + first × (1 + the fields of one node), a mutation 10 plus its
// selection. Shopify may charge less after the fact (actualQueryCost); we charge what was requested.
import {
  Kind,
  parse,
  type DocumentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

function argValue(node: ValueNode | undefined, vars: Record<string, unknown>): unknown {
  if (!node) return undefined;
  if (node.kind === Kind.VARIABLE) return vars[node.name.value];
  if (node.kind === Kind.INT) return Number(node.value);
  return undefined;
}

function selectionCost(
  set: SelectionSetNode | undefined,
  vars: Record<string, unknown>,
  fragments: Map<string, SelectionSetNode>,
): number {
  if (!set) return 0;
  let cost = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FRAGMENT_SPREAD) {
      cost += selectionCost(fragments.get(sel.name.value), vars, fragments);
      continue;
    }
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      cost += selectionCost(sel.selectionSet, vars, fragments);
      continue;
    }
    if (!sel.selectionSet) continue; // scalars and enums cost nothing
    const name = sel.name.value;
    // A connection's wrappers are not priced: its nodes are (pageInfo is free).
    if (name === 'pageInfo') continue;
    const inner = selectionCost(sel.selectionSet, vars, fragments);
    if (name === 'nodes' || name === 'edges' || name === 'node') {
      cost += inner;
      continue;
    }
    const first = argValue(sel.arguments?.find((a) => a.name.value === 'first')?.value, vars);
    // A connection (or list) with `first` costs 2 plus `first` nodes of 1 each and their own fields;
    // an object costs 1 and its fields.
    cost += typeof first === 'number' ? 2 + first * (1 + inner) : 1 + inner;
  }
  return cost;
}

export function requestedCost(doc: DocumentNode, op: OperationDefinitionNode, vars: Record<string, unknown>) {
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
  if (op.operation === 'mutation') {
    // Each mutation field costs 10 plus its selection.
    return op.selectionSet.selections.reduce(
      (s, sel) => s + 10 + (sel.kind === Kind.FIELD ? selectionCost(sel.selectionSet, vars, fragments) : 0),
      0,
    );
  }
  return Math.max(1, selectionCost(op.selectionSet, vars, fragments));
}

/** The requested cost of a query string with its variables (the first operation). */
export function costOf(query: string, variables: Record<string, unknown>): number {
  const doc = parse(query);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return op ? requestedCost(doc, op, variables) : 1;
}
