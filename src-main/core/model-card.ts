/**
 * The model card: the JSON file in models/ that tells the app how to feed the network, how to turn
 * its features into embeddings, and which distance thresholds define the group kinds.
 */
import { z } from 'zod';

/** A geometric view of the input that the app may embed besides the photo itself. */
export const VIEW_NAMES = ['identity', 'mirror', 'rot90', 'rot180', 'rot270'] as const;
export type ViewName = (typeof VIEW_NAMES)[number];

export const ModelCardSchema = z.object({
  name: z.string(),
  /** Version of the ONNX network; cached features are keyed by it. */
  networkVersion: z.string(),
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  input: z.object({
    name: z.string(),
    /** Square side in pixels fed to the network. */
    size: z.number().int().min(16).max(1024),
    layout: z.literal('NCHW'),
    /** Per-channel mean and std applied to RGB values scaled to [0, 1]. */
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number(), z.number(), z.number()]),
    /** How a photo becomes a square: `fill` stretches the whole picture, keeping all content. */
    resize: z.enum(['fill']),
    /** Trim uniform borders (letterboxing) before resizing. */
    trimBorders: z.boolean(),
  }),
  output: z.object({ name: z.string(), dims: z.number().int().positive() }),
  head: z.object({
    file: z.string(),
    version: z.string(),
    inDims: z.number().int().positive(),
    outDims: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  /** Views embedded per photo; distance between two photos is the minimum over these views. */
  views: z.array(z.enum(VIEW_NAMES)).min(1),
  thresholds: z.object({
    /** Euclidean distance at or below which two photos are the same picture. */
    nearDuplicate: z.number().positive(),
    /** Euclidean distance at or below which two photos show the same scene. */
    similar: z.number().positive(),
  }),
  training: z.record(z.string(), z.unknown()).optional(),
  evaluation: z.record(z.string(), z.unknown()).optional(),
});

export type ModelCard = z.infer<typeof ModelCardSchema>;
