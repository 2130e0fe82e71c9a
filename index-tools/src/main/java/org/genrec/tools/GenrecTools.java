package org.genrec.tools;

import org.genrec.tools.bench.BenchCommand;

import java.io.PrintStream;

/** Entry point of {@code genrec-tools}: one subcommand per job. */
public final class GenrecTools {

    private GenrecTools() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help")) {
            out.println(usage());
            return args.length == 0 ? 2 : 0;
        }
        try {
            switch (args[0]) {
                case "index-items" -> IndexItemsCommand.run(new CliArgs(args, 1, IndexItemsCommand.OPTIONS), out);
                case "index-synthetic" -> IndexSyntheticCommand.run(new CliArgs(args, 1, IndexSyntheticCommand.OPTIONS), out);
                case "index-events" -> IndexEventsCommand.run(new CliArgs(args, 1, IndexEventsCommand.OPTIONS), out);
                case "export-events" -> ExportEventsCommand.run(new CliArgs(args, 1, ExportEventsCommand.OPTIONS), out);
                case "bench" -> BenchCommand.run(new CliArgs(args, 1, BenchCommand.OPTIONS), out);
                case "evaluate" -> EvaluateCommand.run(new CliArgs(args, 1, EvaluateCommand.OPTIONS), out);
                default -> throw new CliArgs.UsageException("unknown command [" + args[0] + "]");
            }
            return 0;
        } catch (CliArgs.UsageException e) {
            err.println("error: " + e.getMessage());
            err.println(usage());
            return 2;
        } catch (Exception e) {
            err.println("error: " + e.getMessage());
            return 1;
        }
    }

    private static String usage() {
        return "usage: genrec-tools COMMAND [options]\n\n" + IndexItemsCommand.USAGE + "\n\n" + IndexSyntheticCommand.USAGE + "\n\n" + IndexEventsCommand.USAGE + "\n\n"
            + ExportEventsCommand.USAGE + "\n\n" + BenchCommand.USAGE + "\n\n" + EvaluateCommand.USAGE;
    }
}
