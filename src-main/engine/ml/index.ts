/** The model engine: loading and checking the shipped model, and running its network. */
export { createEmbedder, type Embedder, type EmbedderOptions } from './embedder';
export {
  EXECUTION_PROVIDER_TABLE,
  providerChain,
  type ExecutionProvider,
} from './execution-providers';
export { defaultModelDir, loadModel, MODEL_CARD_FILE, type LoadedModel } from './model-loader';
