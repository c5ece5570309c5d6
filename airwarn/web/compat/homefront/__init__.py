"""The Home Front Command's (Pikud HaOref's) feeds: `shapes` (its vocabulary and the JSON its
clients read; pure functions) and `routes` (the paths its hosts and Tzeva Adom's serve)."""
