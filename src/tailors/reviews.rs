//! Reviews of tailors by customers who were served by them, the tailor's
//! one reply, and the rating summary kept equal to the reviews.
