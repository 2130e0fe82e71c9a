"""Deterministic synthetic catalogue + interaction log with structure a model can learn.

- 8 topics, each with its own vocabulary; an item = topic words + one item-specific word.
- Within a topic items form chains: after item c_k users tend to take c_{k+1}, more so when the
  gap since the previous event is short (so event time carries signal for the time-aware RoPE).
- Users have 1-2 favourite topics; taste-driven picks come mostly from them; purchases and
  positive labels are likelier for favourite-topic items (label noise 10%).
- ~20% search events: the query is 1-2 words of a topic's vocabulary and the chosen item is of
  that topic (preferring items whose title contains a query word).
"""
from __future__ import annotations

import numpy as np

from .schema import Event, Item

TOPICS: dict[str, list[str]] = {
    "sports": ["ball", "goal", "team", "racket", "sprint", "league", "coach", "stadium", "jersey", "trophy"],
    "kitchen": ["pan", "knife", "oven", "spice", "recipe", "bowl", "whisk", "grill", "kettle", "pot"],
    "garden": ["seed", "rake", "flower", "soil", "hose", "shovel", "tulip", "fern", "compost", "hedge"],
    "music": ["guitar", "drum", "piano", "violin", "chord", "melody", "vinyl", "amp", "tempo", "choir"],
    "travel": ["luggage", "passport", "map", "tent", "hiking", "beach", "compass", "backpack", "ferry", "hostel"],
    "tech": ["laptop", "cable", "router", "keyboard", "mouse", "monitor", "charger", "drone", "sensor", "chip"],
    "books": ["novel", "poetry", "atlas", "mystery", "fantasy", "memoir", "comic", "thriller", "essay", "saga"],
    "fashion": ["shoes", "jacket", "scarf", "denim", "boots", "dress", "hat", "silk", "belt", "sneaker"],
}
_SYLLABLES = ["ka", "lo", "mi", "ru", "ze", "ta", "no", "vi", "su", "pe", "do", "fa", "gu", "he", "jo", "xi"]


def _item_word(rng: np.random.Generator, used: set[str]) -> str:
    """A unique made-up word (brand-like) so each item has text of its own."""
    while True:
        word = "".join(rng.choice(_SYLLABLES, size=3))
        if word not in used:
            used.add(word)
            return word


def generate(seed: int = 7, num_users: int = 2000, num_items: int = 500,
             min_len: int = 20, max_len: int = 60) -> tuple[list[Item], list[Event]]:
    rng = np.random.default_rng(seed)
    topic_names = list(TOPICS)
    n_topics = len(topic_names)

    # --- catalogue --------------------------------------------------------------------------
    items: list[Item] = []
    item_topic = np.empty(num_items, dtype=np.int64)
    used_words: set[str] = set()
    for i in range(num_items):
        t = i % n_topics
        words = list(rng.choice(TOPICS[topic_names[t]], size=2, replace=False))
        items.append(Item(item_id=f"i{i}", title=" ".join(words + [_item_word(rng, used_words)]),
                          categories=(topic_names[t],)))
        item_topic[i] = t
    by_topic = [np.flatnonzero(item_topic == t).tolist() for t in range(n_topics)]
    title_words = [set(it.title.split()) for it in items]

    # Chains: each topic's items shuffled and cut into chains of 4-8; next_item[i] = successor.
    next_item = np.full(num_items, -1, dtype=np.int64)
    for t in range(n_topics):
        order = rng.permutation(by_topic[t])
        start = 0
        while start < len(order):
            length = int(rng.integers(4, 9))
            chain = order[start:start + length]
            next_item[chain[:-1]] = chain[1:]
            start += length

    # --- users and their sequences ----------------------------------------------------------
    events: list[Event] = []
    for u in range(num_users):
        favs = rng.choice(n_topics, size=int(rng.integers(1, 3)), replace=False)
        fav_set = set(int(f) for f in favs)
        length = int(rng.integers(min_len, max_len + 1))
        ts = 1_700_000_000 + int(rng.integers(0, 30 * 86400))
        seen: set[int] = set()
        prev = -1
        for step in range(length):
            # Gaps from minutes to days (log-uniform), sometimes 0 (same-second events).
            gap = 0 if rng.random() < 0.05 else int(np.exp(rng.uniform(np.log(60), np.log(3 * 86400))))
            ts += gap
            query = None
            item = -1
            if step > 0 and rng.random() < 0.2:  # search event
                topic = int(rng.choice(favs)) if rng.random() < 0.7 else int(rng.integers(n_topics))
                words = list(rng.choice(TOPICS[topic_names[topic]], size=int(rng.integers(1, 3)), replace=False))
                query = " ".join(words)
                pool = [i for i in by_topic[topic] if i not in seen]
                matching = [i for i in pool if not title_words[i].isdisjoint(words)]
                pick_from = matching if matching and rng.random() < 0.8 else pool
                if pick_from:
                    item = int(rng.choice(pick_from))
                else:  # user has seen the whole topic: no search this time
                    query = None
            if item < 0:
                p_chain = 0.75 if gap < 3600 else 0.35  # short gap -> continue what you were doing
                if prev >= 0 and next_item[prev] >= 0 and next_item[prev] not in seen and rng.random() < p_chain:
                    item = int(next_item[prev])
                else:
                    topic = int(rng.choice(favs)) if rng.random() < 0.8 else int(rng.integers(n_topics))
                    for _ in range(10):  # avoid repeats so leave-one-out targets are new items
                        item = int(rng.choice(by_topic[topic]))
                        if item not in seen:
                            break
            fav = int(item_topic[item]) in fav_set
            action = "purchase" if rng.random() < (0.3 if fav else 0.05) else "click"
            label = int(fav) if rng.random() >= 0.1 else int(not fav)
            events.append(Event(user_id=f"u{u}", item_id=f"i{item}", action=action,
                                timestamp=ts, query=query, label=label))
            seen.add(item)
            prev = item
    return items, events
