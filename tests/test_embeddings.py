import numpy as np
import pytest

from app.embeddings import Embedder, native_bfloat16
from app.settings import Settings, SettingsError

TEXTS = [
    "FED proposed seven issues.",
    "The WTO Joint Statement Initiative on e-commerce brought together more than seventy members, who met in a series of "
    "small group meetings in Geneva to discuss consumer protection, paperless trading, electronic signatures, spam and data flows.",
    "ASEAN",
    "UNCTAD E-Commerce Week 2017 gathered ministers, business leaders and civil society in Geneva.",
]


def test_vectors_come_back_in_the_order_of_the_texts(embedder):
    # The embedder sorts texts by length to batch them; each row must still belong to its own text.
    together = embedder.encode(TEXTS)
    alone = np.concatenate([embedder.encode([t]) for t in TEXTS])
    assert np.allclose((together * alone).sum(1), 1.0, atol=1e-3)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


@pytest.mark.skipif(not native_bfloat16(), reason="this CPU has no hardware bfloat16")
def test_bfloat16_vectors_stay_within_a_hair_of_float32():
    fast = Embedder(precision="bfloat16").encode(TEXTS)
    exact = Embedder(precision="float32").encode(TEXTS)
    assert (fast * exact).sum(1).min() > 0.999


def test_an_unknown_precision_is_refused_naming_the_setting():
    with pytest.raises(SettingsError, match="CITEQA_EMBED_PRECISION"):
        Settings.from_env({"CITEQA_EMBED_PRECISION": "int4"})
