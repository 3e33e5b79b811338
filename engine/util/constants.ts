/**
 * Numerical stability constants of the dense DNC (Graves et al. 2016), each with the reason it exists. The
 * values are pytorch-dnc 2.0's, so that the engine reproduces its fixtures to float32 precision.
 */

/** Added to ‖M_n‖·‖k‖ in the cosine similarity (pytorch-dnc's δ) so an all-zero memory row gives 0, not 0/0. */
export const COSINE_EPSILON = 1e-6;

/**
 * δ in the allocation's clamped usage û = δ + (1 − δ)·u (pytorch-dnc's δ): keeps every factor of the free-list
 * product strictly positive, so its logarithm is finite and no cell's allocation weight is exactly 1.
 */
export const ALLOCATION_DELTA = 1e-6;

/**
 * Floor under a vector norm when dividing by it in the norm's gradient: ∂‖x‖/∂x = x/‖x‖ is 0/0 at x = 0
 * (empty memory rows). Any norm this small belongs to a zero vector, whose gradient we define as 0 like PyTorch.
 */
export const NORM_GRADIENT_FLOOR = 1e-30;
