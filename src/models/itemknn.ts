/** Item kNN lives in knn.ts with user kNN (one implementation, two orientations); this path keeps its imports working. */
export { fitItemKnn, ITEMKNN_DEFAULTS, ItemKnnModel, type ItemKnnOptions } from './knn.js';
