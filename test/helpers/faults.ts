import { env } from "cloudflare:workers";

/**
 * Test doubles that make real bindings fail on purpose: wrap a binding, hand the wrapped env
 * to `appFetcher({ env })`, and every call not chosen to fail goes to the real D1, KV or
 * Durable Object. Used by the storage-atomicity, fault-sweep and limiter-outage tests.
 */

export class InjectedFault extends Error {
  constructor(what: string) {
    super(`injected fault: ${what}`);
    this.name = "InjectedFault";
  }
}

export type FaultPlan = {
  /** Fail the Nth operation (1-based) counted across the wrapper's life. */
  failAt?: number;
  /** Fail every operation from the Nth on. */
  failFrom?: number;
  /** Fail only operations whose name is listed (e.g. ["put"] for KV, ["batch"] for D1). */
  only?: string[];
};

/** Counts operations and decides which fail; `calls` lists every counted operation by name. */
export class FaultCounter {
  readonly calls: string[] = [];
  constructor(private readonly plan: FaultPlan) {}

  /** Records an operation and throws when the plan says it fails. */
  hit(name: string): void {
    if (this.plan.only && !this.plan.only.includes(name)) return;
    this.calls.push(name);
    const n = this.calls.length;
    if (n === this.plan.failAt || (this.plan.failFrom !== undefined && n >= this.plan.failFrom)) {
      throw new InjectedFault(`${name} #${n}`);
    }
  }
}

const realStatements = new WeakMap<object, D1PreparedStatement>();

/** The SQL each wrapped statement was prepared from (bound copies keep it). */
const statementQueries = new WeakMap<object, string>();

function wrapStatement(statement: D1PreparedStatement, counter: FaultCounter, query = ""): D1PreparedStatement {
  const wrapper = {
    bind: (...values: unknown[]) => wrapStatement(statement.bind(...values), counter, query),
    first: async (column?: string) => {
      counter.hit("first");
      return column === undefined ? statement.first() : statement.first(column);
    },
    all: async () => {
      counter.hit("all");
      return statement.all();
    },
    run: async () => {
      counter.hit("run");
      return statement.run();
    },
    raw: async (options?: { columnNames?: boolean }) => {
      counter.hit("raw");
      // biome-ignore lint/suspicious/noExplicitAny: D1's raw() overloads do not accept a union argument.
      return statement.raw(options as any);
    },
  } as unknown as D1PreparedStatement;
  realStatements.set(wrapper, statement);
  statementQueries.set(wrapper, query);
  return wrapper;
}

/**
 * Wraps D1. Every statement execution and every `batch` counts as one operation. With
 * `breakBatchAt: k`, each batch gets a statement that fails inserted at position k, so the real
 * D1 runs the first k statements and then must roll the whole batch back. With `onlyBatchMatching`
 * as well, only batches whose first statement's SQL matches it are broken.
 */
export function faultyD1(db: D1Database, plan: FaultPlan & { breakBatchAt?: number; onlyBatchMatching?: RegExp } = {}) {
  const counter = new FaultCounter(plan);
  const wrapped = {
    prepare: (query: string) => wrapStatement(db.prepare(query), counter, query),
    batch: async (statements: D1PreparedStatement[]) => {
      counter.hit("batch");
      const real = statements.map((s) => realStatements.get(s) ?? s);
      const first = statements[0] === undefined ? "" : (statementQueries.get(statements[0]) ?? "");
      const targeted = plan.onlyBatchMatching === undefined || plan.onlyBatchMatching.test(first);
      if (plan.breakBatchAt !== undefined && targeted) {
        const at = Math.min(plan.breakBatchAt, real.length);
        real.splice(at, 0, db.prepare("INSERT INTO __injected_fault__ (x) VALUES (1)"));
      }
      return db.batch(real);
    },
    exec: async (query: string) => {
      counter.hit("exec");
      return db.exec(query);
    },
    dump: () => db.dump(),
    withSession: () => wrapped,
  } as unknown as D1Database;
  return { db: wrapped, counter };
}

/** Wraps a KV namespace; `get`, `put`, `delete` and `list` each count as one operation. */
export function faultyKV(kv: KVNamespace, plan: FaultPlan = {}) {
  const counter = new FaultCounter(plan);
  const wrapped = {
    get: async (...args: unknown[]) => {
      counter.hit("get");
      return (kv.get as (...a: unknown[]) => unknown)(...args);
    },
    getWithMetadata: async (...args: unknown[]) => {
      counter.hit("get");
      return (kv.getWithMetadata as (...a: unknown[]) => unknown)(...args);
    },
    put: async (...args: unknown[]) => {
      counter.hit("put");
      return (kv.put as (...a: unknown[]) => unknown)(...args);
    },
    delete: async (key: string) => {
      counter.hit("delete");
      return kv.delete(key);
    },
    list: async (options?: KVNamespaceListOptions) => {
      counter.hit("list");
      return kv.list(options);
    },
  } as unknown as KVNamespace;
  return { kv: wrapped, counter };
}

/**
 * Wraps a Durable Object namespace: every RPC method call on any of its stubs counts as one operation
 * (named by the method) and fails when the plan says so; the others reach the real object.
 */
export function faultyDurableObjects<N extends DurableObjectNamespace>(namespace: N, plan: FaultPlan = {}) {
  const counter = new FaultCounter(plan);
  const stubOf = (real: Record<string | symbol, unknown>) =>
    new Proxy(
      {},
      {
        get: (_target, method) => {
          if (method === "then") return undefined;
          return async (...args: unknown[]) => {
            counter.hit(String(method));
            return (real[method] as (...a: unknown[]) => unknown)(...args);
          };
        },
      },
    );
  const wrapped = new Proxy(namespace, {
    get(target, property) {
      if (property === "getByName" || property === "get") {
        return (...args: unknown[]) =>
          stubOf(
            (Reflect.get(target, property) as (...a: unknown[]) => Record<string | symbol, unknown>).apply(
              target,
              args,
            ),
          );
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { namespace: wrapped, counter };
}

/** A Durable Object namespace whose stubs fail every RPC, as when the limiter is unreachable. */
export function unreachableDurableObjects(namespace: DurableObjectNamespace): DurableObjectNamespace {
  return faultyDurableObjects(namespace, { failFrom: 1 }).namespace;
}

/** The revocation ledgers' namespace, counting (and per `plan` failing) every RPC to any ledger. */
export function faultyLedgers(plan: FaultPlan = {}) {
  const { namespace, counter } = faultyDurableObjects(env.REVOCATION_LEDGER as unknown as DurableObjectNamespace, plan);
  return { ledgers: namespace as unknown as Env["REVOCATION_LEDGER"], counter };
}
