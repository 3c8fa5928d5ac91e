'use strict';
// The error a plugin (or the core) throws to refuse a control request with an HTTP status.

class ControlError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

module.exports = { ControlError };
