/**
 * Recipes decide, for each GEMM of a Linear layer (fprop, dgrad, wgrad), the number format and
 * where the FP8 scales come from. HYBRID (e4m3 forward, e5m2 gradients) is the default format
 * split, as in TransformerEngine.
 *
 * - `unitScaling` (μnit Scaling): the model is parametrised so weights, activations and gradients
 *   are unit-scaled at init, so every scale is static: 1 for the forward operands and a power of
 *   two known from the shape for the gradient (no amax is ever computed).
 * - `delayed`: TransformerEngine's DelayedScaling: scales from an amax history of earlier steps.
 * - `current`: the amax of the tensor itself (TE's Float8CurrentScaling, torchao's tensorwise).
 * - `f32`, `bf16`: the baselines (bf16 rounds GEMM operands and outputs to bf16).
 */
import { check } from '../errors.js';
import type { Fp8Format } from '../numerics.js';

export type RecipeName = 'f32' | 'bf16' | 'unitScaling' | 'delayed' | 'current';
export const RECIPE_NAMES: readonly RecipeName[] = ['f32', 'bf16', 'unitScaling', 'delayed', 'current'];

/** How a model built for this recipe is parametrised: unit-scaled (μnit Scaling) or standard (GPT-2 style). */
export type Parametrization = 'unit' | 'standard';

export interface Recipe {
  readonly name: RecipeName;
  readonly parametrization: Parametrization;
  /** 'fp8' recipes run hidden Linear GEMMs on FP8 operands. */
  readonly precision: 'f32' | 'bf16' | 'fp8';
  /** Format of weights and activations (fprop operands). */
  readonly forwardFormat: Fp8Format;
  /** Format of output gradients (dgrad and wgrad operands). */
  readonly gradientFormat: Fp8Format;
  readonly scaling: 'none' | 'static' | 'current' | 'delayed';
  /** Run the weight-gradient GEMM in f32 on the dequantized saved input (torchao's rowwise_with_gw_hp). */
  readonly highPrecisionWgrad: boolean;
  /** Delayed scaling: amax history length, margin (scale ÷ 2^margin) and how the history is reduced. */
  readonly amaxHistoryLength: number;
  readonly margin: number;
  readonly amaxComputeAlgo: 'max' | 'most_recent';
  readonly powerOfTwoScales: boolean;
  /** μnit Scaling's residual weight: branch × τ/√(1+τ²), skip × 1/√(1+τ²). */
  readonly tau: number;
  /**
   * How activations are saved for backward (COAT): 'fp8' keeps Linear inputs as their FP8 codes and
   * the inputs of non-linear layers as e4m3 with one scale per 1×16 group; 'f32' keeps them as they are.
   */
  readonly activations: ActivationStorage;
}

export type ActivationStorage = 'f32' | 'fp8';
export const ACTIVATION_STORAGES: readonly ActivationStorage[] = ['f32', 'fp8'];

const FP8_BASE = {
  precision: 'fp8',
  forwardFormat: 'e4m3fn',
  gradientFormat: 'e5m2',
  highPrecisionWgrad: false,
  amaxHistoryLength: 1024,
  margin: 0,
  amaxComputeAlgo: 'max',
  powerOfTwoScales: false,
  tau: 0.5,
  activations: 'fp8',
} as const;

type Options = Partial<Omit<Recipe, 'name' | 'parametrization' | 'precision' | 'scaling'>>;

function validate(recipe: Recipe): Recipe {
  const formats = ['e4m3fn', 'e5m2', 'e4m3fnuz', 'e5m2fnuz'];
  check(formats.includes(recipe.forwardFormat), 'recipe.forwardFormat', recipe.forwardFormat, formats.join(', '));
  check(formats.includes(recipe.gradientFormat), 'recipe.gradientFormat', recipe.gradientFormat, formats.join(', '));
  check(
    Number.isInteger(recipe.amaxHistoryLength) && recipe.amaxHistoryLength >= 1,
    'recipe.amaxHistoryLength',
    recipe.amaxHistoryLength,
    'an integer ≥ 1',
  );
  check(Number.isFinite(recipe.margin) && recipe.margin >= 0, 'recipe.margin', recipe.margin, 'a number ≥ 0');
  check(
    ['max', 'most_recent'].includes(recipe.amaxComputeAlgo),
    'recipe.amaxComputeAlgo',
    recipe.amaxComputeAlgo,
    '"max" or "most_recent"',
  );
  check(Number.isFinite(recipe.tau) && recipe.tau > 0, 'recipe.tau', recipe.tau, 'a number > 0');
  check(
    ACTIVATION_STORAGES.includes(recipe.activations),
    'recipe.activations',
    recipe.activations,
    ACTIVATION_STORAGES.map((a) => JSON.stringify(a)).join(', '),
  );
  check(
    recipe.activations !== 'fp8' || recipe.precision === 'fp8',
    'recipe.activations',
    '"fp8"',
    `"f32" for the ${recipe.name} recipe (FP8 activations need an FP8 recipe: unitScaling, delayed or current)`,
  );
  return Object.freeze(recipe);
}

export const recipes = {
  /** μnit Scaling: static scales, unit-scaled model (the default). */
  unitScaling: (options: Options = {}): Recipe =>
    validate({ ...FP8_BASE, ...options, name: 'unitScaling', parametrization: 'unit', scaling: 'static' }),
  /** TransformerEngine DelayedScaling: scale = (fp8_max / amax) / 2^margin from the amax history. */
  delayed: (options: Options = {}): Recipe =>
    validate({ ...FP8_BASE, ...options, name: 'delayed', parametrization: 'standard', scaling: 'delayed' }),
  /** Current (just-in-time) scaling from each tensor's own amax. */
  current: (options: Options = {}): Recipe =>
    validate({ ...FP8_BASE, ...options, name: 'current', parametrization: 'standard', scaling: 'current' }),
  f32: (options: Pick<Options, 'activations'> = {}): Recipe =>
    validate({ ...FP8_BASE, activations: 'f32', ...options, name: 'f32', parametrization: 'standard', precision: 'f32', scaling: 'none' }),
  bf16: (options: Pick<Options, 'activations'> = {}): Recipe =>
    validate({
      ...FP8_BASE,
      activations: 'f32',
      ...options,
      name: 'bf16',
      parametrization: 'standard',
      precision: 'bf16',
      scaling: 'none',
    }),
};

/** The recipe called `name` with default options (options left undefined keep the recipe's default). */
export function recipeByName(name: string, options: Options = {}): Recipe {
  check((RECIPE_NAMES as readonly string[]).includes(name), 'recipe', name, RECIPE_NAMES.map((n) => JSON.stringify(n)).join(', '));
  const factory = recipes[name as RecipeName] as (o?: Options) => Recipe;
  return factory(Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)));
}
