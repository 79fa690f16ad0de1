/**
 * Every error graphc raises on purpose is a GraphcError: callers (and the CLI, which maps them to
 * exit code 2) can tell bad input from a bug. Messages name the node, feed or file at fault.
 */
export class GraphcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit an op, a feed or each other. */
export class ShapeError extends GraphcError {}

/** An element type an op or feed does not accept. */
export class DTypeError extends GraphcError {}

/** A feed that is missing, unknown, or whose value does not match its placeholder. */
export class FeedError extends GraphcError {}

/** A model, weights, checkpoint or tensor file that cannot be read as what it claims to be. */
export class FormatError extends GraphcError {}

/** An op (or op configuration) graphc has no implementation for; lists every one found. */
export class UnsupportedOpError extends GraphcError {
  constructor(
    message: string,
    readonly ops: string[] = [],
  ) {
    super(message);
  }
}

/** A graph that is malformed: dangling references, cycles, bad attributes. */
export class GraphError extends GraphcError {}

/** Differentiation asked for something that has no gradient. */
export class GradientError extends GraphcError {}
