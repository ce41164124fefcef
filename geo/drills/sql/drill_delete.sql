DELETE FROM drill WHERE id = %(id)s RETURNING id;
