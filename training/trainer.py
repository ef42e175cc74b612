"""The local trainer: LoRA fine-tuning of a causal LM on OpenAI-format examples (supervised or DPO), one
optimizer step at a time, with exact save/resume. No database, no web: the job runner drives it."""

import gc
import hashlib
import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM

from training import sharding, token_count
from training.device import allow_fast_matmul, resolve_device
from training.distributed import ONE_PROCESS, Ranks
from training.examples import ChatEncoder, PreferencePair, TrainingDataError
from training.objectives import Measurement, Objective, PreferenceObjective, SupervisedObjective
from training.recipe import choose_recipe, prepare_model
from training.schedule import linear_schedule

__all__ = ["LocalTrainer", "StepMetrics", "TrainingConfig", "TrainingDataError"]

log = logging.getLogger(__name__)

METHODS = ("supervised", "dpo")
MAX_GRAD_NORM = 1.0
STATE_FILE = "trainer-state.pt"


@dataclass(frozen=True)
class TrainingConfig:
    model_dir: Path
    method: str  # "supervised" | "dpo"
    n_epochs: int
    batch_size: int  # examples per optimizer step (OpenAI's meaning)
    learning_rate: float  # absolute peak learning rate
    seed: int
    beta: float = 0.1  # dpo only
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    max_length: int | None = None  # None: the model's max_position_embeddings, at most 8192 (token_count)
    device: str = "auto"  # "auto" (cuda if available, else cpu), "cpu", "cuda", "cuda:N"
    max_tokens_per_micro_batch: int = 16384  # the most; fewer where a step would not fit the GPU
    init_adapter: Path | None = None  # continue from this PEFT adapter (tuning a fine-tuned model)
    liger: bool = False  # Liger's fused kernels (CUDA, with liger_kernel installed)
    gradient_checkpointing: bool | None = None  # None: only when a step would not fit the GPU


@dataclass(frozen=True)
class StepMetrics:
    step: int  # completed optimizer steps, 1-based
    total_steps: int
    epoch: int  # 1-based
    epoch_end: bool
    train_loss: float
    train_mean_token_accuracy: float
    valid_loss: float | None  # a validation batch scored at this step
    valid_mean_token_accuracy: float | None
    full_valid_loss: float | None  # the whole validation set, at epoch ends
    full_valid_mean_token_accuracy: float | None
    tokens: int  # tokens this step trained and bills (token_count.unit_tokens of its examples)


class LocalTrainer:
    """Examples are tokenized once up front (a TrainingDataError names the first unusable one). Each
    epoch visits the examples in an order drawn from (seed, epoch), so a resumed run sees the same
    batches. A validation batch (batch_size examples, cycling through the set) is scored every
    max(1, steps_per_epoch // 10) steps, the whole validation set at every epoch end. Among `ranks`
    (training/distributed.py), each trains on its share of every batch and all take the same steps;
    every rank makes every call, and only the first writes files."""

    def __init__(
        self,
        config: TrainingConfig,
        training: list[dict],
        validation: list[dict] | None = None,
        ranks: Ranks = ONE_PROCESS,
    ):
        if config.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {config.method!r}")
        if not training:
            raise TrainingDataError("The training file has no examples.")
        self.config = config
        self.ranks = ranks
        device = resolve_device(config.device)
        self.device = str(device)
        allow_fast_matmul(device)

        model_config = AutoConfig.from_pretrained(config.model_dir)
        self.recipe = choose_recipe(
            device,
            model_config,
            liger=config.liger,
            gradient_checkpointing=config.gradient_checkpointing,
            micro_batch_tokens=config.max_tokens_per_micro_batch,
            weight_shards=ranks.world if ranks.sharded else 1,
        )
        log.info("training on %s: %s", device, self.recipe.describe())
        encoder = token_count.load_encoder(config.model_dir, config.max_length)
        self._training = self._objective(encoder, training, "Training", device)
        self._validation = self._objective(encoder, validation, "Validation", device) if validation else None

        self.steps_per_epoch = math.ceil(len(training) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.n_epochs
        self.completed_steps = 0
        # What the job bills when it completes: the sum of its steps' `tokens`, as quoted.
        self.trained_tokens = sum(self._training.unit_tokens) * config.n_epochs
        self._validation_interval = max(1, self.steps_per_epoch // 10)
        self._order_epoch, self._order = -1, []

        torch.manual_seed(config.seed)
        base = AutoModelForCausalLM.from_pretrained(
            config.model_dir,
            dtype=self.recipe.dtype,
            attn_implementation=self.recipe.attention,
            # Sharded, each rank moves only its share of the weights to its device.
            device_map="cpu" if ranks.sharded else device,
        )
        prepare_model(self.recipe, base)
        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
        self.model = (
            PeftModel.from_pretrained(base, config.init_adapter, is_trainable=True)
            if config.init_adapter is not None
            else get_peft_model(base, lora)
        )
        if ranks.sharded:
            sharding.shard(self.model, base._no_split_modules or [], device, ranks.world)
        if config.init_adapter is not None:
            for objective in (self._training, self._validation):
                if isinstance(objective, PreferenceObjective):
                    objective.score_references_now(self.model)
        self._trainable = {name: p for name, p in self.model.named_parameters() if p.requires_grad}
        self.optimizer = torch.optim.AdamW(
            self._trainable.values(),
            lr=config.learning_rate,
            weight_decay=0.0,
            fused=True if device.type == "cuda" else None,
        )
        self.scheduler = linear_schedule(self.optimizer, self.total_steps)

    def _objective(self, encoder: ChatEncoder, examples: list[dict], name: str, device) -> Objective:
        max_tokens = self.recipe.micro_batch_tokens
        units = token_count.encode(encoder, self.config.method, examples, name)
        if self.config.method == "dpo":
            pairs = [PreferencePair(chosen, rejected) for chosen, rejected in units]
            return PreferenceObjective(pairs, self.config.beta, device, max_tokens)
        return SupervisedObjective([sequence for (sequence,) in units], device, max_tokens)

    def step(self) -> StepMetrics:
        if self.completed_steps >= self.total_steps:
            raise RuntimeError(f"training is complete: all {self.total_steps} steps are done")
        epoch, index = divmod(self.completed_steps, self.steps_per_epoch)
        start = index * self.config.batch_size
        batch = self._epoch_order(epoch)[start : start + self.config.batch_size]

        self.model.train()
        trained = self._training.measure(self.model, batch, backward=True, ranks=self.ranks)
        self.ranks.sum_gradients(self._trainable.values())
        torch.nn.utils.clip_grad_norm_(self._trainable.values(), MAX_GRAD_NORM)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.completed_steps += 1

        step = self.completed_steps
        epoch_end = step % self.steps_per_epoch == 0
        batch_score = full_score = None
        if self._validation is not None:
            if step % self._validation_interval == 0:
                batch_score = self._score(self._validation_batch(step))
            if epoch_end:
                full_score = self._score(list(range(len(self._validation))))
        return StepMetrics(
            step=step,
            total_steps=self.total_steps,
            epoch=epoch + 1,
            epoch_end=epoch_end,
            train_loss=trained.loss,
            train_mean_token_accuracy=trained.mean_token_accuracy,
            valid_loss=batch_score.loss if batch_score is not None else None,
            valid_mean_token_accuracy=batch_score.mean_token_accuracy if batch_score is not None else None,
            full_valid_loss=full_score.loss if full_score is not None else None,
            full_valid_mean_token_accuracy=full_score.mean_token_accuracy if full_score is not None else None,
            tokens=trained.tokens,
        )

    def _epoch_order(self, epoch: int) -> list[int]:
        if self._order_epoch != epoch:
            self._order = list(range(len(self._training)))
            random.Random(f"ftgate/{self.config.seed}/{epoch}").shuffle(self._order)
            self._order_epoch = epoch
        return self._order

    def _validation_batch(self, step: int) -> list[int]:
        size = min(self.config.batch_size, len(self._validation))
        start = (step // self._validation_interval - 1) * size
        return [(start + offset) % len(self._validation) for offset in range(size)]

    def _score(self, indices: list[int]) -> Measurement:
        self.model.eval()
        with torch.no_grad():
            score = self._validation.measure(self.model, indices, backward=False, ranks=self.ranks)
        self.model.train()
        return score

    def save_state(self, path: Path) -> None:
        """Write into the folder `path` (created) everything needed to continue exactly."""
        if not self.ranks.gathers_writes:
            return
        state = {
            "fingerprint": self._fingerprint(),
            "completed_steps": self.completed_steps,
            "adapter": self._adapter_weights(),
            "optimizer": sharding.gathered(self.optimizer.state_dict()),
            "scheduler": self.scheduler.state_dict(),
            "cpu_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.startswith("cuda") else None,
            "training": self._training.state_dict(),
            "validation": self._validation.state_dict() if self._validation is not None else {},
        }
        if not self.ranks.leads:
            return
        path.mkdir(parents=True, exist_ok=True)
        partial = path / f"{STATE_FILE}.partial"
        torch.save(state, partial)
        partial.replace(path / STATE_FILE)

    def load_state(self, path: Path) -> None:
        state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
        if state["fingerprint"] != self._fingerprint():
            raise ValueError("the saved state belongs to a different training run (config or data differ)")
        with torch.no_grad():
            for name, value in state["adapter"].items():
                self._trainable[name].copy_(sharding.like(self._trainable[name], value))
        self.optimizer.load_state_dict(
            sharding.optimizer_state_like(state["optimizer"], list(self._trainable.values()))
        )
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["cpu_rng"])
        if state["cuda_rng"] is not None and self.device.startswith("cuda"):
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        self._training.load_state_dict(state["training"])
        if self._validation is not None:
            self._validation.load_state_dict(state["validation"])
        self.completed_steps = state["completed_steps"]

    def _fingerprint(self) -> dict:
        config = self.config
        return {
            "method": config.method,
            "seed": config.seed,
            "batch_size": config.batch_size,
            "n_epochs": config.n_epochs,
            "lora": [config.lora_rank, config.lora_alpha],
            "training_tokens": hashlib.sha256(repr(self._training.unit_tokens).encode()).hexdigest(),
        }

    def save_adapter(self, path: Path) -> None:
        """A PEFT folder: PeftModel.from_pretrained(base model, path) serves it."""
        if not self.ranks.gathers_writes:
            return
        weights = self._adapter_weights()
        if self.ranks.leads:
            self.model.save_pretrained(path, state_dict=weights)

    def _adapter_weights(self) -> dict[str, torch.Tensor]:
        """The trained weights, whole, on the CPU."""
        return {name: sharding.gathered(p.detach()).cpu().clone() for name, p in self._trainable.items()}

    def close(self) -> None:
        for name in ("model", "optimizer", "scheduler", "_trainable"):
            self.__dict__.pop(name, None)
        gc.collect()
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
