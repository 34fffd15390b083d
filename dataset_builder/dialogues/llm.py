"""The language-model backend: a local causal LM writes the turns, prompted from split-assigned templates."""

import re


class LanguageModelBackend:
    """
    Writes dialogues with a transformers causal language model, prompted from the same split-assigned situations
    and prompt templates as the grammar, so the split guarantees hold.

    Args:
        model_name_or_path (`str`): a local folder or a Hub id of a causal LM and its tokenizer.
        device (`str`, *optional*): where to run it (default: cuda when available, else cpu).
        max_new_tokens (`int`): generation budget per dialogue.
        temperature / top_p (`float`): sampling settings.
    """

    def __init__(self, model_name_or_path: str, *, device: str | None = None, max_new_tokens: int = 96,
                 temperature: float = 0.9, top_p: float = 0.95):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
            self.model = AutoModelForCausalLM.from_pretrained(model_name_or_path)
        except (OSError, ValueError) as error:
            raise ValueError(f"Cannot load the language model {model_name_or_path!r}: {error}") from error
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.name = str(model_name_or_path)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p

    def complete(self, prompt: str, seed: int) -> str:
        import torch

        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        pad_token_id = self.tokenizer.pad_token_id
        if pad_token_id is None:
            pad_token_id = self.tokenizer.eos_token_id
        torch.manual_seed(seed % (2**63))
        with torch.no_grad():
            output = self.model.generate(
                **inputs,
                do_sample=True,
                temperature=self.temperature,
                top_p=self.top_p,
                max_new_tokens=self.max_new_tokens,
                min_new_tokens=min(8, self.max_new_tokens),
                pad_token_id=pad_token_id,
            )
        return self.tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def split_generated_turns(text: str, speakers: tuple[str, str], max_turns: int = 6) -> list[str]:
    """
    Cut a model's continuation into 2-`max_turns` turns: by line (dropping `Name:` prefixes), else by sentence,
    else by halving the words. Returns fewer than two turns only when the text has fewer than two words.
    """
    prefix = re.compile(r"^\s*(?:%s|[A-Z][\w]{0,20})\s*:\s*" % "|".join(re.escape(name) for name in speakers))
    turns = [prefix.sub("", line).strip() for line in text.splitlines()]
    turns = [turn for turn in turns if turn]
    if len(turns) < 2:
        turns = [part.strip() for part in re.split(r"(?<=[.!?])\s+", " ".join(turns)) if part.strip()]
    if len(turns) < 2:
        words = " ".join(turns).split()
        if len(words) < 2:
            return turns
        middle = len(words) // 2
        turns = [" ".join(words[:middle]), " ".join(words[middle:])]
    return turns[:max_turns]




__all__ = ["LanguageModelBackend", "split_generated_turns"]
