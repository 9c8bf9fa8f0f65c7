/**
 * Every name `import "forager"` gives carries a doc comment at its
 * declaration, and so does every public member of an exported class,
 * interface or object type (and of the object types nested in them): the
 * comment is what a consumer's editor shows, and the only reference for a
 * field that is not in SPEC.md.
 *
 * One Program over src/index.ts: each export is resolved through its
 * re-exports to its declarations. Left out, as dist/index.d.ts leaves them
 * out (`stripInternal`, checked in public-types.test.ts): declarations
 * tagged `@internal`, private and `#` members. The fields of the agent-file
 * types that zod infers (`Agent`, `Limits`, ...) are the agent file's
 * format, documented in SPEC.md and by `forager schema`: their object
 * literal properties are not members here, the exported aliases are.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import ts from "typescript";
import { root } from "../helpers/modules-loaded.js";

const src = join(root, "src");

/**
 * A doc comment that opens the file, a blank line before the first
 * statement, describes the module: TypeScript attaches it to that
 * statement, but it says nothing about the declaration.
 */
function isFileComment(doc: ts.JSDoc): boolean {
  const text = doc.getSourceFile().text;
  return text.slice(0, doc.getStart()).trim() === "" && /^[ \t]*\r?\n[ \t]*\r?\n/.test(text.slice(doc.end));
}

/** The summary text of a declaration's own doc comments (tags alone do not count). */
function docText(node: ts.Node): string {
  return ts
    .getJSDocCommentsAndTags(node)
    .filter((doc): doc is ts.JSDoc => ts.isJSDoc(doc) && !isFileComment(doc))
    .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "")
    .join("")
    .trim();
}

function isPrivate(node: ts.Declaration): boolean {
  const name = ts.getNameOfDeclaration(node);
  if (name && ts.isPrivateIdentifier(name)) return true;
  return (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Private) !== 0;
}

/** Members a consumer can read or set: class elements and signatures of object types. */
function isMemberDeclaration(node: ts.Declaration): boolean {
  return (
    ts.isPropertySignature(node) ||
    ts.isMethodSignature(node) ||
    ts.isPropertyDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    // A constructor parameter property (`constructor(readonly x: T)`) is a member too.
    (ts.isParameter(node) && ts.isConstructorDeclaration(node.parent))
  );
}

/** Undocumented exports and members, as "Name.member (src/file.ts:line)". */
function undocumented(): { missing: string[]; checked: number } {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    types: [],
  };
  // Only forager's own files: a package (zod, the AI SDK, node:*) is left
  // unresolved, since its declarations carry no forager doc and parsing them
  // would take most of the time (some 700 files instead of some 230).
  const host = ts.createCompilerHost(options);
  host.resolveModuleNameLiterals = (literals, containingFile, _redirect, resolveOptions) =>
    literals.map((literal) =>
      literal.text.startsWith(".") ? ts.resolveModuleName(literal.text, containingFile, resolveOptions, host) : { resolvedModule: undefined },
    );
  const program = ts.createProgram({ rootNames: [join(src, "index.ts")], options, host });
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(join(src, "index.ts"));
  assert.ok(index, "src/index.ts is in the program");
  const moduleSymbol = checker.getSymbolAtLocation(index);
  assert.ok(moduleSymbol, "src/index.ts is a module");

  const seen = new Set<ts.Node>();
  const missing: string[] = [];
  const inSource = (node: ts.Node) => node.getSourceFile().fileName.startsWith(src);
  const internal = (node: ts.Node) => ts.isInternalDeclaration(node, node.getSourceFile());
  const where = (node: ts.Node) => {
    const file = node.getSourceFile();
    return `${relative(root, file.fileName)}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };

  /**
   * Checks one declaration once; false when it is left out (internal,
   * private, elsewhere). A class member that implements or overrides a
   * documented one has that comment (`symbol`: what an editor shows for it).
   */
  const check = (node: ts.Declaration, label: string, symbol?: ts.Symbol): boolean => {
    if (!inSource(node) || internal(node) || isPrivate(node)) return false;
    if (seen.has(node)) return false;
    seen.add(node);
    const inherited = () => ts.displayPartsToString(symbol?.getDocumentationComment(checker)).trim() !== "";
    if (docText(node) === "" && !inherited()) missing.push(`${label} (${where(node)})`);
    return true;
  };

  /** The members of the object types written inside a declaration's type (nested fields). */
  const nested = (typeNode: ts.Node | undefined, owner: string) => {
    if (!typeNode) return;
    const visit = (node: ts.Node): void => {
      if (ts.isTypeLiteralNode(node)) {
        for (const member of node.members) member.name && ts.isIdentifier(member.name) && memberOf(member, owner);
        return;
      }
      // Through `A | B`, `A & B`, `A[]` and `(A)` only: an object type in a
      // type argument (`Extract<T, { status: "x" }>`) or a function type is not a field.
      if (ts.isUnionTypeNode(node) || ts.isIntersectionTypeNode(node) || ts.isArrayTypeNode(node) || ts.isParenthesizedTypeNode(node)) {
        ts.forEachChild(node, visit);
      }
    };
    visit(typeNode);
  };

  const memberOf = (node: ts.Declaration, owner: string, symbol?: ts.Symbol) => {
    if (!isMemberDeclaration(node)) return;
    const name = ts.getNameOfDeclaration(node);
    const label = `${owner}.${name ? name.getText() : "?"}`;
    if (!check(node, label, symbol)) return;
    // A field's object type holds fields too; a method's result is its comment's to describe.
    if (ts.isPropertySignature(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) nested(node.type, label);
  };

  /** Public members of a type, inherited ones from declarations in src/ included. */
  const membersOfType = (type: ts.Type, owner: string) => {
    const parts = type.isUnion() ? type.types : [type];
    for (const part of parts) {
      for (const property of checker.getPropertiesOfType(part)) {
        if (property.getName() === "prototype") continue;
        for (const declaration of property.getDeclarations() ?? []) memberOf(declaration, owner, property);
      }
    }
  };

  let checked = 0;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.getName();
    checked++;
    for (const declaration of symbol.getDeclarations() ?? []) {
      // A constant's comment sits on its statement; getJSDocCommentsAndTags finds it there.
      if (!check(declaration, name)) continue;
      if (ts.isClassDeclaration(declaration)) {
        membersOfType(checker.getDeclaredTypeOfSymbol(symbol), name);
        membersOfType(checker.getTypeOfSymbol(symbol), name);
        for (const member of declaration.members) {
          if (ts.isConstructorDeclaration(member)) for (const parameter of member.parameters) if (ts.isParameterPropertyDeclaration(parameter, member)) memberOf(parameter, name);
        }
      } else if (ts.isInterfaceDeclaration(declaration)) {
        membersOfType(checker.getDeclaredTypeOfSymbol(symbol), name);
      } else if (ts.isTypeAliasDeclaration(declaration)) {
        nested(declaration.type, name);
        membersOfType(checker.getDeclaredTypeOfSymbol(symbol), name);
      } else if (ts.isVariableDeclaration(declaration) || ts.isFunctionDeclaration(declaration)) {
        nested(declaration.type, name);
      }
    }
  }
  return { missing, checked };
}

test("every export of src/index.ts, and every public member of an exported type, has a doc comment", () => {
  const { missing, checked } = undocumented();
  assert.ok(checked > 60, `src/index.ts exports ${checked} names`);
  assert.deepEqual(missing, [], `${missing.length} exports or members have no doc comment:\n  ${missing.join("\n  ")}\n`);
});
