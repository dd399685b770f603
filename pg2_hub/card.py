"""Fill the model card template (model_cards/pg2_template.md) from a PG2 model."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData


TEMPLATE = "pg2_template.md"


def card_template() -> str:
    """The Jinja template `save_pretrained` and `push_to_hub` fill.

    Installed, it is package data (`pg2_hub.model_cards`); run from a source checkout without
    installing (a Hugging Face Space, `PYTHONPATH=.`), it is read from model_cards/ beside pg2_hub/.
    """
    try:
        return (resources.files("pg2_hub.model_cards") / TEMPLATE).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        return (Path(__file__).resolve().parents[1] / "model_cards" / TEMPLATE).read_text(encoding="utf-8")


def render_model_card(model: Any, card_data: ModelCardData, **kwargs: Any) -> ModelCard:
    """Render the card for a PG2 pipeline (`model.describe()` supplies the facts).

    Args:
        model: a PG2 instance.
        card_data: the class's Hub metadata (library_name, license, tags, pipeline_tag).
        **kwargs: extra template variables, e.g. `repo_id`, or `untrained=True`.
    """
    facts = model.describe()
    facts.setdefault("untrained", not facts["training"])
    facts.update(kwargs)
    card_data = ModelCardData(**card_data.to_dict())
    datasets = facts["training"].get("dataset")
    if datasets:
        card_data.datasets = [datasets] if isinstance(datasets, str) else list(datasets)
    return ModelCard.from_template(
        card_data, template_str=card_template(), repo_url=model._hub_mixin_info.repo_url, **facts
    )
