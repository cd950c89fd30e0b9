import { createApp } from "./app";

/** Worker entry: the gateway app and the rate limiter's Durable Object class. */
export default createApp();
export { RateLimiter } from "./durable-objects/rate-limiter";
