"""N-way k-shot episodes: seeded, disjoint, checked, and scored by the nearest class."""

import numpy as np
import pytest

from siamese.data import load_dataset
from siamese.errors import DatasetError
from siamese.evaluation import Episode, EpisodeSampler, score_episodes


@pytest.fixture(scope="module")
def shapes(shapes_dir):
    return load_dataset(shapes_dir)


def test_episodes_are_seeded_and_reproducible(shapes):
    a = EpisodeSampler(5, 2, episodes=10, seed=3).sample(shapes)
    b = EpisodeSampler(5, 2, episodes=10, seed=3).sample(shapes)
    c = EpisodeSampler(5, 2, episodes=10, seed=4).sample(shapes)
    assert all(np.array_equal(x.support, y.support) and np.array_equal(x.queries, y.queries) for x, y in zip(a, b))
    assert any(not np.array_equal(x.support, y.support) for x, y in zip(a, c))


def test_supports_and_queries_are_disjoint_and_labelled(shapes):
    for episode in EpisodeSampler(6, 3, episodes=20, queries_per_class=2, seed=0).sample(shapes):
        assert episode.support.shape == (6, 3) and episode.queries.shape == (12,)
        assert len(set(episode.classes.tolist())) == 6
        assert not set(episode.support.ravel().tolist()) & set(episode.queries.tolist())
        for row, label in enumerate(episode.classes):
            assert all(shapes.labels[i] == label for i in episode.support[row])
        assert all(shapes.labels[q] == episode.classes[a] for q, a in zip(episode.queries, episode.answers))


def test_within_group_keeps_each_episode_in_one_group(shapes):
    for episode in EpisodeSampler(4, 1, episodes=15, within_group=True, seed=1).sample(shapes):
        assert len({shapes.groups[c] for c in episode.classes}) == 1


@pytest.mark.parametrize(
    "sampler, message",
    [
        (EpisodeSampler(13, 1), "13-way episodes need 13 classes, found 12"),
        (
            EpisodeSampler(5, 8),
            "8-shot episodes need 9 images per class (8 support + 1 query), the largest class has 8",
        ),
        (EpisodeSampler(5, 1, within_group=True), "need a group of 5 classes with 2+ images, the largest group has 4"),
    ],
)
def test_impossible_episodes_are_refused_up_front(shapes, sampler, message):
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        sampler.sample(shapes)


@pytest.mark.parametrize(
    "kwargs, message", [({"way": 1}, "way must be at least 2"), ({"shot": 0}, "shot must be at least 1")]
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EpisodeSampler(**{"way": 5, **kwargs})


def test_an_oracle_embedding_answers_every_query(shapes):
    oracle = np.eye(shapes.num_classes)[shapes.labels]
    result = score_episodes(EpisodeSampler(12, 2, episodes=30, seed=0).sample(shapes), oracle)
    assert result.accuracy.value == 1.0 and result.accuracy.n == 30 * 12
    assert result.to_dict()["way"] == 12 and result.to_dict()["shot"] == 2 and result.to_dict()["episodes"] == 30


def test_scores_are_mean_distances_to_the_supports():
    # Class 0 supports at 0 and 4 (mean distance 2 from 2.0); class 1 supports at 2.5 and 2.5
    # (mean 0.5): class 1 wins although class 0's mean embedding (2.0) is the query itself.
    embeddings = np.array([[0.0], [4.0], [2.5], [2.5], [2.0]])
    episode = Episode(
        classes=np.array([0, 1]), support=np.array([[0, 1], [2, 3]]), queries=np.array([4]), answers=np.array([0])
    )
    result = score_episodes([episode], embeddings)
    assert np.allclose(result.distances[0], [[2.0, 0.5]])
    assert result.picks[0].tolist() == [1] and result.accuracy.value == 0.0


def test_random_embeddings_score_about_one_in_n(shapes):
    rng = np.random.default_rng(0)
    result = score_episodes(
        EpisodeSampler(4, 1, episodes=300, seed=0).sample(shapes), rng.normal(size=(len(shapes), 8))
    )
    assert abs(result.accuracy.value - 0.25) < 0.06
