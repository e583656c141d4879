/** User kNN lives in knn.ts with item kNN (one implementation, two orientations); this path keeps its imports working. */
export { fitUserKnn, USERKNN_DEFAULTS, UserKnnModel, type UserKnnOptions } from './knn.js';
