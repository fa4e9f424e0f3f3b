/**
 * A small labelled digraph over operation ordinals, with Tarjan's strongly connected components. Both
 * are iterative: histories from torture runs have tens of thousands of operations, and a recursive
 * walk along a long dependency chain would overflow the stack.
 */
export class Digraph<L> {
  private readonly out = new Map<number, Map<number, L>>();

  /** Self-edges are dropped (an operation depending on itself is not a cycle between transactions); the first label of an edge wins, so labels follow history order. */
  addEdge(from: number, to: number, label: L): void {
    if (from === to) return;
    let m = this.out.get(from);
    if (m === undefined) {
      m = new Map();
      this.out.set(from, m);
    }
    if (!m.has(to)) m.set(to, label);
  }

  get edgeCount(): number {
    let n = 0;
    for (const m of this.out.values()) n += m.size;
    return n;
  }

  /** Nodes with outgoing edges, ascending (the only ones that can be on a cycle). */
  sources(): number[] {
    return [...this.out.keys()].sort((a, b) => a - b);
  }

  successors(node: number): number[] {
    const m = this.out.get(node);
    return m === undefined ? [] : [...m.keys()].sort((a, b) => a - b);
  }

  label(from: number, to: number): L | undefined {
    return this.out.get(from)?.get(to);
  }
}

/** Components of two or more nodes, each sorted ascending, the list sorted by smallest member. Linear in nodes + edges. */
export function stronglyConnectedComponents<L>(g: Digraph<L>): number[][] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;

  const visit = (root: number): void => {
    const work: Array<{ node: number; succ: number[]; next: number }> = [];
    const push = (node: number): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, succ: g.successors(node), next: 0 });
    };
    push(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      if (top.next < top.succ.length) {
        const w = top.succ[top.next++]!;
        if (!index.has(w)) push(w);
        else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === index.get(top.node)) {
        const component: number[] = [];
        for (;;) {
          const n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
          if (n === top.node) break;
        }
        if (component.length >= 2) out.push(component.sort((a, b) => a - b));
      }
    }
  };

  for (const n of g.sources()) if (!index.has(n)) visit(n);
  return out.sort((a, b) => a[0]! - b[0]!);
}

/**
 * One shortest cycle through the smallest node of a strongly connected component, as the list of edges
 * taken. A breadth-first search confined to the component, so linear in its size.
 */
export function cycleThrough<L>(g: Digraph<L>, component: readonly number[]): Array<[number, number]> {
  const start = component[0];
  if (start === undefined) return [];
  const members = new Set(component);
  const parent = new Map<number, number>();
  const queue: number[] = [start];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head]!;
    for (const w of g.successors(u)) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path: Array<[number, number]> = [[u, start]];
        for (let v = u; v !== start; v = parent.get(v)!) path.push([parent.get(v)!, v]);
        return path.reverse();
      }
      if (!parent.has(w)) {
        parent.set(w, u);
        queue.push(w);
      }
    }
  }
  return [];
}
