"""The Model Spec releases that seed the demo repository, installed as the package ``spec_review_spec_repo``."""
