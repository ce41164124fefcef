SELECT code FROM village WHERE code = %(code)s;
