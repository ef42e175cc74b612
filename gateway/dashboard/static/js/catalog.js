// Models the key's project can use, and training prices per base model.
import { request, query } from "./api.js";

export async function listModels() {
  const { data } = await request("/models");
  const base = data.filter((model) => !model.id.startsWith("ft:"));
  // Local models (owned by ftgate) train and chat here without an upstream: list them first.
  base.sort((a, b) => Number(b.owned_by === "ftgate") - Number(a.owned_by === "ftgate"));
  return { base, tuned: data.filter((model) => model.id.startsWith("ft:")) };
}

const prices = new Map();

/** USD per 1M trained tokens of `model`, read from a quote on one of its training files. */
export function trainingPrice(model, fileId) {
  if (!prices.has(model)) {
    const quote = request(`/files/${fileId}/quote${query({ model })}`);
    prices.set(
      model,
      quote
        .then((answer) => answer.training_price_per_1m)
        .catch(() => {
          prices.delete(model);
          return null;
        }),
    );
  }
  return prices.get(model);
}

export function trainingCost(trainedTokens, pricePer1m) {
  if (trainedTokens === null || trainedTokens === undefined || pricePer1m === null) return null;
  return (trainedTokens * pricePer1m) / 1_000_000;
}

/** The base models that can run here, local ones first, each with where it runs (`provider`). */
export async function listBaseModels() {
  const { data } = await request("/base_models");
  return data;
}

export function whereRuns(model) {
  return model.provider === "local" ? "Here (local)" : `Upstream: ${model.provider}`;
}

/** The base model of a fine-tuned model or checkpoint, `ft:{base}:…`; a base model's own name. */
export function baseOf(name) {
  return name.startsWith("ft:") ? name.split(":")[1] : name;
}
