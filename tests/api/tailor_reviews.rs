//! See issue 10; tests are added with the feature.
