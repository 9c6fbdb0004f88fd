/** The seeded PRNG, shared with the product (src/util/random.ts). */
export { hashString, Rng, seededRandom } from "../../src/util/random.js";
