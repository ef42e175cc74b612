"""End to end on the CPU: LoRA-train the tiny model on the ten Elle limericks until it knows them by
heart, save the adapter, and serve it the way the gateway does (PEFT on a freshly loaded base)."""

import torch


def test_the_adapter_recites_every_limerick(make_trainer, tiny_model, limericks, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.tiny_model import TINY_LEARNING_RATE

    # What "auto" resolves to for this file: 10 epochs of batch size 1.
    trainer = make_trainer(limericks, n_epochs=10, batch_size=1, learning_rate=TINY_LEARNING_RATE)
    metrics = [trainer.step() for _ in range(trainer.total_steps)]
    trainer.save_adapter(tmp_path / "adapter")

    last_epoch = metrics[-trainer.steps_per_epoch :]
    assert metrics[0].train_loss > 5
    assert sum(m.train_loss for m in last_epoch) / len(last_epoch) < 0.1
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    model = PeftModel.from_pretrained(base, tmp_path / "adapter").eval()
    for example in limericks:
        *prompt, answer = example["messages"]
        text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        input_ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            output = model.generate(input_ids, max_new_tokens=200, do_sample=False)
        completion = output[0, input_ids.shape[1] :]
        assert completion[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(completion, skip_special_tokens=True) == answer["content"]
