export { ApiError } from './errors.js';
export { createMetrics, type Metrics } from './metrics.js';
export {
  type ChatTemplate,
  DEFAULT_CHAT_TEMPLATE,
  loadServedModel,
  renderChat,
  resolveModelDirectory,
  SERVER_BACKENDS,
  type ServedModel,
  type ServerBackend,
} from './model.js';
export { type GenerationRequest, QueueFullError, Scheduler, type SchedulerOptions } from './scheduler.js';
export { ChatCompletionRequest, CompletionRequest } from './schemas.js';
export { createServer, type OctetServer, type ServerOptions } from './server.js';
