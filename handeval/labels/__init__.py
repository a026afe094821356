"""Label generators over converted shards: penetration, occlusion, interaction subsets."""
