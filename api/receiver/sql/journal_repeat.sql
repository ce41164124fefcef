-- A repeat of a message already taken: counted, not played.
UPDATE journal SET repeats = repeats + 1 WHERE id = :id;
