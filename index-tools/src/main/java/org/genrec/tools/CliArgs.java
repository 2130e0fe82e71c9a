package org.genrec.tools;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** {@code --name value} options of one subcommand; unknown or missing options are user errors with a message. */
public final class CliArgs {

    private final Map<String, String> values = new HashMap<>();

    CliArgs(String[] args, int from, Set<String> known) {
        for (int i = from; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument [" + arg + "]");
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (!known.contains(name)) {
                throw new UsageException("unknown option [--" + name + "]");
            }
            if (value == null) {
                boolean isFlag = i + 1 >= args.length || args[i + 1].startsWith("--");
                value = isFlag ? "true" : args[++i];
            }
            values.put(name, value);
        }
    }

    public String required(String name) {
        String value = values.get(name);
        if (value == null) {
            throw new UsageException("missing option [--" + name + "]");
        }
        return value;
    }

    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    public int getInt(String name, int fallback) {
        String value = values.get(name);
        try {
            return value == null ? fallback : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new UsageException("option [--" + name + "] must be an integer, got [" + value + "]");
        }
    }

    /** The option's integer value, or null when it is not given. */
    public Integer optionalInt(String name) {
        return values.containsKey(name) ? getInt(name, 0) : null;
    }

    public boolean flag(String name) {
        return Boolean.parseBoolean(values.getOrDefault(name, "false"));
    }

    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }
}
